"""Operations: Prometheus metrics, OpenTelemetry traces and structured logs (each its own module)."""
