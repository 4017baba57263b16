"""Spanwise's own telemetry: Prometheus metrics and OpenTelemetry traces of its work."""
