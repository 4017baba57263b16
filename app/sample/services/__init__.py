"""The shop's services, one module each: the spans a service emits while it handles a request.

A handler takes ``(trace, client span, start, caller, *args)`` and returns when it answered,
its status (HTTP status or gRPC code) and what it answered with; see ``http_spans.Handler`` and
``grpc_spans.GrpcHandler``.
"""
