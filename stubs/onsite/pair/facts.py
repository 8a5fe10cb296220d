"""What one node says about itself to its peer, and how two such statements are compared.

The site digest is a sha256 over the site in canonical form (site-file keys, flattened, sorted),
with each secret replaced by an HMAC keyed with the secret itself: two files with different
secrets get different digests, and neither the digest nor the facts reveal a secret. The
lock digest is the sha256 of the bundle's bundle.lock.json (the same for every copy of one .run).
"""

import hashlib
import hmac
import json
import os

from onsite.core import payload
from onsite.site import sitefile

SECRET_NAMES = ("replication_password", "seed_password", "vrrp_password", "sync_password")
FACTS_VERSION = 1


def _flatten(prefix, value, out):
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten("{}.{}".format(prefix, key) if prefix else key, value[key], out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            _flatten("{}[{}]".format(prefix, index), item, out)
    else:
        out[prefix] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def secret_fingerprint(name, value):
    """A keyed fingerprint of one secret (None when the site has none): equal secrets give
    equal fingerprints; the fingerprint does not give the secret back."""
    if not value:
        return None
    mac = hmac.new(value.encode("utf-8"), ("ha-bundle site secret v1 " + name).encode("utf-8"),
                   hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()[:32]


def canonical_site(site):
    """{'cluster.vip': '192.0.2.100/24', 'node[0].name': 'ha1', ..., 'secrets.seed_password': 'hmac-...'}"""
    flat = _flatten("", sitefile.to_dict(site), {})
    flat.pop("version", None)
    for name in SECRET_NAMES:     # a site without [secrets] (--peer-secret): all None
        flat["secrets." + name] = secret_fingerprint(name, getattr(site.secrets, name, None))
    return flat


def site_digest(site):
    text = json.dumps(canonical_site(site), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def short(digest):
    """What people read and compare: the first 16 hex digits."""
    return (digest or "-")[:16]


def lock_digest(directory=None):
    """sha256 of the payload's bundle.lock.json, or None outside a bundle."""
    path = os.path.join(directory or payload.payload_dir(), "bundle.lock.json")
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def pair_key(secret_values):
    """The HMAC key both nodes derive from the shared secrets in effect (never sent)."""
    parts = ["ha-bundle pair v1"] + [value or "" for value in secret_values]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).digest()


def of_this_node(site, local, lock_sha=None):
    """This node's statement: who it is, which site and which bundle."""
    return {
        "version": FACTS_VERSION,
        "node": local.me.name,
        "address": local.me.address,
        "peer": local.peer.address,
        "site": canonical_site(site),
        "site_digest": site_digest(site),
        "lock_digest": lock_sha if lock_sha is not None else lock_digest(),
    }


UNKNOWN = "(unknown here)"


def without_secrets(facts):
    """facts built from a site remembered without [secrets] (verify after the site file left
    the host, on a node configured without the handshake): its secrets are unknown, not unset."""
    out = dict(facts, site=dict(facts.get("site") or {}), site_digest=None)
    for name in SECRET_NAMES:
        out["site"]["secrets." + name] = UNKNOWN
    return out


def differences(mine, theirs):
    """[(key, my value, their value)] of the site keys that differ (secrets by fingerprint);
    keys unknown here are not compared."""
    a, b = mine.get("site") or {}, theirs.get("site") or {}
    return [(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key) and a.get(key) != UNKNOWN]


def show(value):
    if value is None:
        return "(not set)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
