"""The speed settings of grader/replay/spark.py are in effect (benchmarks/settings.py says what each is
worth; tests/test_golden.py and the catalogue say they change no verdict)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.spark


def test_checkpoints_go_through_the_filesystem_api(spark) -> None:
    """A Spark upgrade that moves the class again must fail here, not silently fall back to
    FileContext's `readlink` child processes."""
    name = spark.conf.get("spark.sql.streaming.checkpointFileManagerClass", None)
    assert name is not None and name.endswith(".FileSystemBasedCheckpointFileManager")


def test_the_hadoop_configuration_holds_no_yarn_defaults(spark) -> None:
    hadoop = spark._jsparkSession.sessionState().newHadoopConf()
    assert hadoop.get("yarn.resourcemanager.address") is None
    assert hadoop.get("fs.defaultFS") == "file:///"  # core-default.xml is still read


def test_file_listing_stays_in_the_driver(spark) -> None:
    threshold = int(spark.conf.get("spark.sql.sources.parallelPartitionDiscovery.threshold"))
    assert threshold > 10_000  # the real data has 34 step folders per kind; a course term, thousands
