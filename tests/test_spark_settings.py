"""The speed settings of grader/replay/spark.py are in effect (benchmarks/settings.py says what each is
worth; tests/test_golden.py and the catalogue say they change no verdict)."""

from __future__ import annotations

from pathlib import Path

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


def test_state_is_kept_in_rocksdb_with_the_join_format_that_evicts_by_watermark(spark) -> None:
    """Format 4 runs only on RocksDB; a session with one and not the other would refuse every join."""
    assert spark.conf.get("spark.sql.streaming.stateStore.providerClass").endswith(".RocksDBStateStoreProvider")
    assert spark.conf.get("spark.sql.streaming.join.stateFormatVersion") == "4"


def test_native_libraries_are_unpacked_into_the_sessions_scratch(spark) -> None:
    """Not into a shared /tmp, where a sandbox user's copies stayed after every grading."""
    tmpdir = spark._jvm.java.lang.System.getProperty("java.io.tmpdir")
    assert Path(tmpdir) == Path(spark.conf.get("spark.local.dir")).resolve()
