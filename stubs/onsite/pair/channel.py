"""The installers' meeting point before any change: one TCP exchange on cluster.pair_port.

Each node listens on its own address and, at the same time, calls the peer; whichever call
gets through first carries both statements, so both sides finish on one exchange. Only the
peer's address is served. Each side proves it holds the shared secrets with an HMAC over the
other side's fresh nonce (the secrets themselves never travel). Protocol, JSON lines:

  client -> {"hello": "ha-bundle-pair/1", "nonce": Nc}
  server -> {"nonce": Ns, "facts": Fs, "proof": HMAC(K, "server" Nc Fs)}
  client -> {"facts": Fc, "proof": HMAC(K, "client" Ns Fc)}
  server -> {"ok": true}

A wrong proof still delivers the facts: the caller then names what differs (secrets included,
by fingerprint) instead of waiting for a timeout.
"""

import binascii
import hashlib
import hmac
import json
import os
import socket
import socketserver
import threading
import time

HELLO = "ha-bundle-pair/1"
MAX_LINE = 256 * 1024
IO_TIMEOUT = 5.0
ELSEWHERE_EVERY = 5.0


class ChannelError(Exception):
    """The exchange broke (peer closed, garbage, too long): retried until the deadline."""


def _nonce():
    return binascii.hexlify(os.urandom(16)).decode("ascii")


def _canonical(facts):
    return json.dumps(facts, sort_keys=True, separators=(",", ":"))


def proof(key, role, nonce, facts):
    text = "\0".join([role, nonce, _canonical(facts)])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _send(sock_file, obj):
    sock_file.write((json.dumps(obj, sort_keys=True) + "\n").encode("utf-8"))
    sock_file.flush()


def _receive(sock_file):
    line = sock_file.readline(MAX_LINE + 1)
    if not line or len(line) > MAX_LINE or not line.endswith(b"\n"):
        raise ChannelError("no complete answer")
    try:
        obj = json.loads(line.decode("utf-8"))
    except ValueError:
        raise ChannelError("not our protocol")
    if not isinstance(obj, dict):
        raise ChannelError("not our protocol")
    return obj




class _Outcome(object):
    """What the exchange left: the peer's facts and whether its proof held (first one wins)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.result = None

    def record(self, facts, authentic):
        with self.lock:
            if self.result is None:
                self.result = {"facts": facts, "authentic": bool(authentic)}

    def get(self):
        with self.lock:
            return self.result


def _make_handler(my_facts, key, peer_address, outcome):
    class Handler(socketserver.StreamRequestHandler):
        timeout = IO_TIMEOUT

        def handle(self):
            if self.client_address[0] != peer_address:
                return                      # only the peer is answered
            try:
                hello = _receive(self.rfile)
                if hello.get("hello") != HELLO or not isinstance(hello.get("nonce"), str):
                    return
                nonce = _nonce()
                _send(self.wfile, {"nonce": nonce, "facts": my_facts,
                                   "proof": proof(key, "server", hello["nonce"], my_facts)})
                answer = _receive(self.rfile)
                facts = answer.get("facts")
                if not isinstance(facts, dict):
                    return
                good = hmac.compare_digest(str(answer.get("proof", "")), proof(key, "client", nonce, facts))
                _send(self.wfile, {"ok": good})
                outcome.record(facts, good)
            except (ChannelError, OSError, ValueError):
                return
    return Handler


class _Server(socketserver.TCPServer):
    allow_reuse_address = True


class Listener(object):
    """This node's side of the meeting: serves the peer in a thread until closed."""

    def __init__(self, address, port, my_facts, key, peer_address):
        self.outcome = _Outcome()
        self.server = _Server((address, port), _make_handler(my_facts, key, peer_address, self.outcome))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2})
        self.thread.daemon = True
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def call(address, port, my_facts, key, source=None, timeout=IO_TIMEOUT):
    """One exchange as the client: {"facts", "authentic"}; ChannelError/OSError when the peer
    is not there (yet) or broke off."""
    sock = socket.create_connection((address, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    try:
        sock.settimeout(timeout)
        stream = sock.makefile("rwb")
        nonce = _nonce()
        _send(stream, {"hello": HELLO, "nonce": nonce})
        answer = _receive(stream)
        facts = answer.get("facts")
        if not isinstance(facts, dict) or not isinstance(answer.get("nonce"), str):
            raise ChannelError("not our protocol")
        good = hmac.compare_digest(str(answer.get("proof", "")), proof(key, "server", nonce, facts))
        _send(stream, {"facts": my_facts, "proof": proof(key, "client", answer["nonce"], my_facts)})
        _receive(stream)
        return {"facts": facts, "authentic": good}
    finally:
        sock.close()


def meet(me_address, peer_address, port, my_facts, key, timeout, on_wait=None, elsewhere=None,
         clock=time.monotonic):
    """Listen and call until one exchange with the peer happened; returns {"facts",
    "authentic"}, or None when the peer did not come within timeout seconds.
    on_wait(seconds_left, why) is called about once a second while waiting; elsewhere(), asked
    every few seconds, may return the peer's facts found another way (its database, once the
    peer is past its own handshake): {"facts", "authentic"} or None."""
    listener = Listener(me_address, port, my_facts, key, peer_address)
    try:
        deadline = clock() + timeout
        asked = clock()
        while True:
            result = listener.outcome.get()
            if result is not None:
                return result
            if elsewhere is not None and clock() - asked >= ELSEWHERE_EVERY:
                asked = clock()
                found = elsewhere()
                if found is not None:
                    return found
            try:
                result = call(peer_address, port, my_facts, key, source=me_address, timeout=min(IO_TIMEOUT, 2.0))
                listener.outcome.record(result["facts"], result["authentic"])
                return listener.outcome.get()
            except (ChannelError, OSError) as exc:
                why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            left = deadline - clock()
            if left <= 0:
                return listener.outcome.get()
            if on_wait is not None:
                on_wait(left, why)
            time.sleep(min(1.0, max(0.05, left)))
    finally:
        # a moment for a call that is being served right now to finish on the peer's side
        time.sleep(0.3)
        listener.close()
