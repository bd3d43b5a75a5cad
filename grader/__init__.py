"""Grading harness for DSC 650 Assignment 8 (Spark Structured Streaming)."""

__version__ = "0.1.0"
