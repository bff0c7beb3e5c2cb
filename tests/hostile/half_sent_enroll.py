#!/usr/bin/python3
"""A hostile client without a certificate: half-sent Enroll calls.

Opens CONNECTIONS TLS connections to a collector, STREAMS Enroll calls on
each, announces a gRPC message of ANNOUNCE bytes on every call, sends SEND
bytes of it as fast as HTTP/2 flow control lets it, and never finishes.
Holds everything for HOLD seconds, then prints one JSON line saying what
the collector did: how many calls it ended (and with which gRPC status),
how many bytes it accepted. Traffic goes only to the address given, which
tests keep on 127.0.0.1. Uses Debian's python3-h2.
"""

import argparse
import json
import selectors
import socket
import ssl
import struct
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions

CHUNK = 16384


class Call:
    def __init__(self, stream_id):
        self.stream_id = stream_id
        self.sent = 0  # message bytes, the 5-byte prefix included
        self.ended = False
        self.status = None  # grpc-status from headers or trailers
        self.reset = None  # RST_STREAM error code


class Connection:
    def __init__(self, args, context, selector):
        host, port = args.address.rsplit(":", 1)
        raw = socket.create_connection((host, int(port)), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.sock.setblocking(False)
        self.h2 = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.calls = {}
        self.goaway = False
        self.closed = False
        self.args = args
        self.message = struct.pack(">BI", 0, args.announce) + bytes(
            args.send - 5)
        for _ in range(args.streams):
            stream_id = self.h2.get_next_available_stream_id()
            self.h2.send_headers(stream_id, [
                (":method", "POST"), (":scheme", "https"),
                (":path", "/evidentia.v1.Collector/Enroll"),
                (":authority", args.address),
                ("content-type", "application/grpc"), ("te", "trailers"),
            ])
            self.calls[stream_id] = Call(stream_id)
        selector.register(self.sock, selectors.EVENT_READ, self)
        self.flush()

    def pump(self):
        """Sends what flow control allows on every open call."""
        if self.closed or self.goaway:
            return
        for call in self.calls.values():
            while not call.ended and call.sent < len(self.message):
                window = min(self.h2.local_flow_control_window(call.stream_id),
                             self.h2.max_outbound_frame_size)
                n = min(window, CHUNK, len(self.message) - call.sent)
                if n <= 0:
                    break
                self.h2.send_data(call.stream_id,
                                  self.message[call.sent:call.sent + n])
                call.sent += n
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        while data and not self.closed:
            try:
                n = self.sock.send(data)
                data = data[n:]
            except (ssl.SSLWantWriteError, BlockingIOError):
                time.sleep(0.001)
            except OSError:
                self.closed = True

    def read(self):
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return
        for event in events:
            call = self.calls.get(getattr(event, "stream_id", None))
            if isinstance(event, (h2.events.ResponseReceived,
                                  h2.events.TrailersReceived)):
                for name, value in event.headers:
                    if name in (b"grpc-status", "grpc-status"):
                        call.status = int(value)
            elif isinstance(event, h2.events.StreamEnded):
                call.ended = True
            elif isinstance(event, h2.events.StreamReset):
                call.ended = True
                call.reset = int(event.error_code)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = True
            elif isinstance(event, h2.events.DataReceived):
                self.h2.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id)
        self.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--connections", type=int, default=13)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--announce", type=int, default=8 << 20)
    parser.add_argument("--send", type=int, default=7 << 20)
    parser.add_argument("--hold", type=float, default=15)
    args = parser.parse_args()
    if not args.address.startswith(("127.", "localhost:")):
        parser.error("this client only talks to loopback addresses")

    context = ssl.create_default_context(cafile=args.ca)
    context.set_alpn_protocols(["h2"])
    selector = selectors.DefaultSelector()
    connections = []
    refused_connections = 0
    for _ in range(args.connections):
        try:
            connections.append(Connection(args, context, selector))
        except OSError:
            refused_connections += 1

    deadline = time.monotonic() + args.hold
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.05):
            key.data.read()
        for connection in connections:
            connection.pump()

    calls = [c for conn in connections for c in conn.calls.values()]
    statuses = {}
    for call in calls:
        if call.ended:
            key = str(call.status if call.status is not None else
                      "reset %s" % call.reset)
            statuses[key] = statuses.get(key, 0) + 1
    print(json.dumps({
        "connections": len(connections),
        "refused_connections": refused_connections,
        "connections_closed": sum(c.closed or c.goaway for c in connections),
        "calls": len(calls),
        "calls_ended_by_collector": sum(c.ended for c in calls),
        "calls_still_open": sum(not c.ended for c in calls),
        "bytes_accepted": sum(c.sent for c in calls),
        "bytes_on_open_calls": sum(c.sent for c in calls if not c.ended),
        "statuses": statuses,
    }, sort_keys=True))
    for connection in connections:
        try:
            connection.sock.close()
        except OSError:
            pass


if __name__ == "__main__":
    main()
