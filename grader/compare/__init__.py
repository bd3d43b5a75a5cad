"""Comparing a student's rows with the expected rows: one module per concern.

``columns`` finds the student's name for each canonical column (and says what it accepted),
``types`` checks each column's type against the contract before any value is compared,
``rows`` matches two multisets of rows with chispa's row comparers and a float tolerance.
"""
