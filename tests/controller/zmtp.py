"""zmtp.py - raw ZMTP 3.0 connections for the hostile-peer test: the NULL
mechanism, or a CURVE client (CurveZMQ, RFC 26) on libsodium through
ctypes, so that a test can do what no ZeroMQ library would: greet and
stall, stop inside a handshake, announce a frame and stall inside it.

Byte layouts follow libzmq 4.3.4 (src/curve_client_tools.hpp,
src/curve_mechanism_base.cpp): HELLO 200 bytes, WELCOME 168, INITIATE
with the client's metadata, READY, then each message one MESSAGE frame
of the payload plus CURVE_OVERHEAD bytes.
"""

import ctypes
import ctypes.util
import os
import re
import socket
import struct

_SODIUM = ctypes.CDLL(ctypes.util.find_library("sodium") or
                      "libsodium.so.23")
if _SODIUM.sodium_init() < 0:
    raise RuntimeError("libsodium did not initialise")

# vfp_keys.h VFP_KEYS_CURVE_OVERHEAD: "\x07MESSAGE", nonce, MAC, flags.
CURVE_OVERHEAD = 33
_MAC = 16
_Z85 = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ".-:+=^!/*?&<>()[]{}@%$#")


class Refused(Exception):
    """The server ended the handshake: an ERROR command or a close."""


def z85_decode(text):
    out = b""
    for i in range(0, len(text), 5):
        value = 0
        for char in text[i:i + 5]:
            value = value * 85 + _Z85.index(char)
        out += struct.pack(">I", value)
    return out


def load_cert(path):
    """A czmq certificate file: (public key, secret key or None), raw."""
    with open(path) as f:
        text = f.read()
    public = re.search(r'public-key = "(.{40})"', text)
    secret = re.search(r'secret-key = "(.{40})"', text)
    return (z85_decode(public.group(1)),
            z85_decode(secret.group(1)) if secret else None)


def keypair():
    public, secret = ctypes.create_string_buffer(32), \
        ctypes.create_string_buffer(32)
    _SODIUM.crypto_box_keypair(public, secret)
    return public.raw, secret.raw


def _box(plain, nonce, public, secret):
    out = ctypes.create_string_buffer(len(plain) + _MAC)
    if _SODIUM.crypto_box_easy(out, plain, ctypes.c_ulonglong(len(plain)),
                               nonce, public, secret) != 0:
        raise RuntimeError("crypto_box_easy failed")
    return out.raw


def _open(boxed, nonce, public, secret):
    out = ctypes.create_string_buffer(max(1, len(boxed) - _MAC))
    if _SODIUM.crypto_box_open_easy(out, boxed,
                                    ctypes.c_ulonglong(len(boxed)), nonce,
                                    public, secret) != 0:
        return None
    return out.raw[:len(boxed) - _MAC]


def _precompute(public, secret):
    key = ctypes.create_string_buffer(32)
    _SODIUM.crypto_box_beforenm(key, public, secret)
    return key.raw


def _box_afternm(plain, nonce, key):
    out = ctypes.create_string_buffer(len(plain) + _MAC)
    _SODIUM.crypto_box_easy_afternm(out, plain,
                                    ctypes.c_ulonglong(len(plain)), nonce, key)
    return out.raw


def _open_afternm(boxed, nonce, key):
    out = ctypes.create_string_buffer(max(1, len(boxed) - _MAC))
    if _SODIUM.crypto_box_open_easy_afternm(
            out, boxed, ctypes.c_ulonglong(len(boxed)), nonce, key) != 0:
        return None
    return out.raw[:len(boxed) - _MAC]


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


def frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def frame_header(size, command=False):
    """The header of a long frame of size bytes: what a peer sends before
    it stalls inside the frame."""
    return bytes([2 | (4 if command else 0)]) + struct.pack(">Q", size)


def greeting(mechanism):
    return (b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" +
            mechanism.ljust(20, b"\0") + b"\0" + b"\0" * 31)


class Conn:
    """One raw ZMTP connection. mechanism None only connects; b"NULL"
    greets and says READY as a DEALER; b"CURVE" greets, and handshake()
    authenticates with cert = (public, secret) against server_key."""

    def __init__(self, address, mechanism=b"NULL", cert=None,
                 server_key=None):
        family = socket.AF_UNIX if isinstance(address, str) else \
            socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(address)
        self.curve = mechanism == b"CURVE"
        self.cert, self.server_key = cert, server_key
        self.nonce = 1
        self.key = None
        if mechanism is None:
            return
        self.sock.sendall(greeting(mechanism))
        self.exact(64)
        if mechanism == b"NULL":
            self.sock.sendall(frame(b"\x05READY" + prop(b"Socket-Type",
                                                        b"DEALER"),
                                    command=True))
            flags, body = self.recv_frame()
            if not flags & 4 or not body.startswith(b"\x05READY"):
                raise Refused(body[:40])

    def exact(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def recv_frame(self):
        flags = self.exact(1)[0]
        if flags & 2:
            size = struct.unpack(">Q", self.exact(8))[0]
        else:
            size = self.exact(1)[0]
        return flags, self.exact(size)

    # -- CURVE ------------------------------------------------------------

    def _next_nonce(self):
        nonce = self.nonce
        self.nonce += 1
        return struct.pack(">Q", nonce)

    def hello(self):
        """Sends HELLO, reads WELCOME: the server's short-term key and
        cookie. Any key gets this far."""
        self.cn_public, self.cn_secret = keypair()
        short = self._next_nonce()
        signature = _box(b"\0" * 64, b"CurveZMQHELLO---" + short,
                         self.server_key, self.cn_secret)
        self.sock.sendall(frame(b"\x05HELLO\x01\x00" + b"\0" * 72 +
                                self.cn_public + short + signature,
                                command=True))
        try:
            _, body = self.recv_frame()
        except (EOFError, OSError):
            raise Refused("closed after HELLO")
        if not body.startswith(b"\x07WELCOME") or len(body) != 168:
            raise Refused(body[:40])
        plain = _open(body[24:], b"WELCOME-" + body[8:24], self.server_key,
                      self.cn_secret)
        if plain is None:
            raise Refused("WELCOME does not open")
        self.cn_server, self.cookie = plain[:32], plain[32:128]

    def initiate(self):
        """Sends INITIATE (vouching with the long-term key) and reads
        READY; raises Refused when the server's ZAP handler says no."""
        public, secret = self.cert
        vouch_nonce = os.urandom(16)
        vouch = _box(self.cn_public + self.server_key,
                     b"VOUCH---" + vouch_nonce, self.cn_server, secret)
        short = self._next_nonce()
        plain = (public + vouch_nonce + vouch +
                 prop(b"Socket-Type", b"DEALER"))
        boxed = _box(plain, b"CurveZMQINITIATE" + short, self.cn_server,
                     self.cn_secret)
        self.sock.sendall(frame(b"\x08INITIATE" + self.cookie + short + boxed,
                                command=True))
        self.key = _precompute(self.cn_server, self.cn_secret)
        try:
            _, body = self.recv_frame()
        except (EOFError, OSError):
            raise Refused("closed after INITIATE")
        if not body.startswith(b"\x05READY"):
            raise Refused(body[:40])

    def handshake(self):
        self.hello()
        self.initiate()

    # -- messages ---------------------------------------------------------

    def wire(self, body, more=False):
        """body as one frame on the wire, encrypted on a CURVE connection
        (each call takes the next nonce, so send what it returns once)."""
        if not self.curve:
            return frame(body, more)
        short = self._next_nonce()
        boxed = _box_afternm(bytes([1 if more else 0]) + body,
                             b"CurveZMQMESSAGEC" + short, self.key)
        return frame(b"\x07MESSAGE" + short + boxed)

    def send(self, body, more=False):
        self.sock.sendall(self.wire(body, more))

    def repeater(self, body, more=False):
        """A function that sends body again at each call, a new nonce
        each time, encrypting into buffers made once: a flood costs this
        process no copies of a 16 MiB message."""
        if not self.curve:
            wired = frame(body, more)
            return lambda: self.sock.sendall(wired)
        plain = bytes([1 if more else 0]) + body
        boxed = ctypes.create_string_buffer(len(plain) + _MAC)
        header = frame_header(len(body) + CURVE_OVERHEAD) + b"\x07MESSAGE"

        def send():
            short = self._next_nonce()
            _SODIUM.crypto_box_easy_afternm(
                boxed, plain, ctypes.c_ulonglong(len(plain)),
                b"CurveZMQMESSAGEC" + short, self.key)
            self.sock.sendall(header + short)
            self.sock.sendall(memoryview(boxed))
        return send

    def recv_message(self, timeout):
        """The next message's body, skipping commands (PING)."""
        self.sock.settimeout(timeout)
        while True:
            flags, body = self.recv_frame()
            if self.curve and body.startswith(b"\x07MESSAGE"):
                plain = _open_afternm(body[16:], b"CurveZMQMESSAGES" +
                                      body[8:16], self.key)
                if plain is None:
                    raise Refused("a MESSAGE that does not open")
                return plain[1:]
            if not flags & 4 and not self.curve:
                return body

    def closed_within(self, timeout):
        """True when the server closes the connection in time."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
