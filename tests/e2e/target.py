"""A small HTTP service inside the cluster for Vigil to watch: Vigil's own image serving a
directory with Python's http.server, under the restricted Pod Security level."""
from __future__ import annotations

NAME = "e2e-target"


def manifest(image: str) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {NAME}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {NAME}}}
  template:
    metadata:
      labels: {{app: {NAME}}}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: http
          image: {image}
          imagePullPolicy: IfNotPresent
          args: ["python", "-m", "http.server", "8080", "--directory", "/app/app/static"]
          ports: [{{containerPort: 8080}}]
          readinessProbe:
            tcpSocket: {{port: 8080}}
            periodSeconds: 2
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: ["ALL"]}}
---
apiVersion: v1
kind: Service
metadata:
  name: {NAME}
spec:
  selector: {{app: {NAME}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""
