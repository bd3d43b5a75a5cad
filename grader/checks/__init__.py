"""The rubric's checks: one module per graded concern, each check a function that carries its
rubric id (``grader.checks.base.check``), collected in ``grader.checks.registry``."""
