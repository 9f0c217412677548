"""Measuring helpers the benchmarks share: counters of MongoDB commands and Kafka requests, phases in subprocesses."""
