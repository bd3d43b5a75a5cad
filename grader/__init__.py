"""Grading harness for DSC 650 Assignment 8 (Spark Structured Streaming)."""

from grader.arrow_memory import release_promptly

__version__ = "0.1.0"

release_promptly()  # before any table is read: see grader.arrow_memory
