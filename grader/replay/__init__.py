"""8.2, the replay: the student's queries fed the data step by step, inside the queries child.

- ``schedule``: which step folders are published together, derived from the data alone;
- ``driver``: fills ``input`` replay step by replay step and drives every query with
  ``processAllAvailable``, copying aside what each sink gained;
- ``overrides``: settings a student may use that change only speed, undone;
- ``fallback``: when ``start_queries`` raises, the sinks it did not concern started on their own;
- ``spark``: the one SparkSession configuration, measured;
- ``class_archive``: the JVM's class-data-sharing archive, built once per install by the grader.
"""
