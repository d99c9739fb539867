"""Thin, typed wrappers over the official kubernetes client (lease, cronjobs).

Importing the kubernetes client costs about 0.3 s, so nothing outside this
package imports it, and this package is imported only where a cluster is used.
"""
