#!/bin/sh
# apt-install.sh PACKAGE...: install Debian packages in an image build, leaving no lists,
# .debs or apt logs behind. Both service images use it (hack/kind/service-images.sh).
# apt uses the base's sources.list: the mirror hack/base-image.sh debootstrapped from (the
# one this machine's apt uses). policy-rc.d keeps the packages' postinst scripts from
# starting their servers inside the build.
set -eu
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
rm -f /usr/sbin/policy-rc.d
