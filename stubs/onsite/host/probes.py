"""Does the application answer? The one probe for verify, status and drill.

A target is the site's health URL (its host replaced by the address asked about) or
``tcp://ADDRESS:PORT`` when the site has no health URL. No proxies: every address is local.
"""

import socket
from urllib import request as urlrequest
from urllib.parse import urlsplit, urlunsplit


def app_target(health_url, port, address=None):
    """The target for the app on address (None: the health URL as written, or 127.0.0.1)."""
    if health_url:
        if address is None:
            return health_url
        parts = urlsplit(health_url)
        return urlunsplit((parts.scheme, "{}:{}".format(address, parts.port or port),
                           parts.path or "/", parts.query, ""))
    return "tcp://{}:{}".format(address or "127.0.0.1", port)


def probe(target, timeout=3.0):
    """(ok, answer or error text): a TCP connect, or an HTTP answer below 400."""
    if target.startswith("tcp://"):
        host, port = target[len("tcp://"):].rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout).close()
            return True, "TCP connect ok"
        except (OSError, socket.timeout) as exc:
            return False, str(exc)
    opener = urlrequest.build_opener(urlrequest.ProxyHandler({}))
    try:
        resp = opener.open(target, timeout=timeout)
        try:
            return 200 <= resp.getcode() < 400, "HTTP {}".format(resp.getcode())
        finally:
            resp.close()
    except Exception as exc:         # URLError, HTTPError, timeouts, resets: all mean "no"
        return False, str(getattr(exc, "reason", None) or exc)
