"""An independent gRPC client (Debian's python3-grpcio, gRPC's C core and its own TLS), not this project's code.

Usage: independent_grpc_client.py HOST PORT CA CERT|- KEY|- NAME
Lists the services by server reflection and calls gnoi.system.System/Time over TLS, checking the server's certificate
against CA as NAME, presenting CERT/KEY when given. Messages are encoded by hand: no generated code is involved.
Prints "service <name>" per service and "time <ns>"; on a gRPC error, "error <CODE> <details>" and exits 1.
"""
import sys

import grpc


def fields(data):
    """(field number, wire type, value) of a protobuf message: varints as int, length-delimited as bytes."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 2:
            length, i = varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield number, wire, value


def varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def main():
    host, port, ca, cert, key, name = sys.argv[1:7]
    read = lambda p: None if p == "-" else open(p, "rb").read()
    creds = grpc.ssl_channel_credentials(root_certificates=read(ca), private_key=read(key), certificate_chain=read(cert))
    channel = grpc.secure_channel("%s:%s" % (host, port), creds, options=[("grpc.ssl_target_name_override", name)])
    raw = lambda b: b
    try:
        reflection = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                           request_serializer=raw, response_deserializer=raw)
        list_services = b"\x3a\x01*"  # ServerReflectionRequest.list_services (field 7) = "*"
        for response in reflection(iter([list_services]), timeout=20):
            for number, _, value in fields(response):
                if number == 6:  # list_services_response
                    for n, _, service in fields(value):
                        if n == 1:
                            print("service " + dict((f, v) for f, _, v in fields(service))[1].decode())
        time = channel.unary_unary("/gnoi.system.System/Time", request_serializer=raw, response_deserializer=raw)(b"", timeout=20)
        print("time %d" % dict((f, v) for f, _, v in fields(time)).get(1, 0))
    except grpc.RpcError as e:
        print("error %s %s" % (e.code().name, e.details()))
        sys.exit(1)


if __name__ == "__main__":
    main()
