"""Which installer signers this host trusts.

The .run header checks signatures (it must, before anything of the file runs); this module
only keeps what a successful install learnt: the public key that signed the installer, under
/var/lib/ha-installer/trusted-keys/<fingerprint>.asc. From then on the header refuses any
installer not signed by one of those keys (unless --allow-untrusted, which is journalled).
The keys stay after uninstall: they are the site's policy, not part of the configuration.
"""

import os
import re

from onsite.core import state

TRUST_DIR = "/var/lib/ha-installer/trusted-keys"     # the header's HB_TRUST_DIR
FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
KEY_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
MAX_KEY = 64 * 1024


def from_header(environ=None):
    """(how the header checked the file, the signer's fingerprint or '', the signer's key text or '')."""
    env = os.environ if environ is None else environ
    how = env.get("HA_INSTALLER_SIGNATURE") or "unchecked"
    fingerprint = (env.get("HA_INSTALLER_SIGNER") or "").upper()
    key = ""
    path = env.get("HA_INSTALLER_SIGNER_KEY") or ""
    if FINGERPRINT.match(fingerprint) and path:
        try:
            with open(path) as handle:
                key = handle.read(MAX_KEY + 1)
        except OSError:
            key = ""
        if len(key) > MAX_KEY or not key.lstrip().startswith(KEY_BEGIN):
            key = ""
    else:
        fingerprint = ""
    return how, fingerprint, key


def trusted(trust_dir=TRUST_DIR):
    """Fingerprints of the keys this host trusts."""
    try:
        names = os.listdir(trust_dir)
    except OSError:
        return []
    return sorted(n[:-4] for n in names if n.endswith(".asc") and FINGERPRINT.match(n[:-4]))


def remember(environ=None, trust_dir=TRUST_DIR):
    """After a successful install: keep the signer's key (once) and journal it, and journal an
    --allow-untrusted run. Returns the fingerprint newly trusted, or None."""
    how, fingerprint, key = from_header(environ)
    if how == "override":
        state.append("signature_overrides", {"signer": fingerprint or None,
                                             "run": os.path.basename((environ or os.environ).get("HA_INSTALLER_RUN", ""))})
    if not (fingerprint and key) or fingerprint in trusted(trust_dir):
        return None
    if not os.path.isdir(trust_dir):
        os.makedirs(trust_dir, 0o755)
    path = os.path.join(trust_dir, fingerprint + ".asc")
    state.append("trusted_keys", fingerprint)
    state.atomic_write(path, key if key.endswith("\n") else key + "\n", mode=0o644)
    return fingerprint
