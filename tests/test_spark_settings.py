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


def test_the_hadoop_defaults_are_trimmed_and_keep_what_a_local_session_reads(spark, tmp_path: Path) -> None:
    """No property a trimmed prefix names is left; the local file systems and the committers' are."""
    from grader.replay.hadoop_overrides import trimmed_prefixes

    trimmed = trimmed_prefixes()
    hadoop = spark._jsparkSession.sessionState().newHadoopConf()
    names, iterator = [], hadoop.iterator()
    while iterator.hasNext():
        name = iterator.next().getKey()
        if set(hadoop.getPropertySources(name) or []) & set(trimmed):  # not what Spark sets itself
            names.append(name)
    prefixes = tuple(p for found in trimmed.values() for p in found)
    assert [name for name in names if name.startswith(prefixes)] == []
    assert 100 < len(names) < 300  # 570 untrimmed (Hadoop 3.5.0)
    assert hadoop.get("fs.AbstractFileSystem.file.impl") == "org.apache.hadoop.fs.local.LocalFs"
    assert hadoop.get("mapreduce.fileoutputcommitter.algorithm.version") == "1"
    assert hadoop.get("fs.permissions.umask-mode") == "022"
    jvm = spark._jvm  # FileContext, which needs fs.AbstractFileSystem.file.impl, still writes a file
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(jvm.java.net.URI("file:///"), hadoop)
    flags = jvm.java.util.EnumSet.of(jvm.org.apache.hadoop.fs.CreateFlag.CREATE)
    target = tmp_path / "through-file-context.txt"
    no_options = spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.CreateOpts, 0)
    stream = context.create(jvm.org.apache.hadoop.fs.Path(target.as_uri()), flags, no_options)
    stream.close()
    assert target.is_file()


def test_trimming_leaves_out_whole_properties_only() -> None:
    from grader.replay.hadoop_overrides import trim

    text = ('<?xml version="1.0"?>\n<!-- header -->\n<configuration>\n<property>\n  <name>ipc.client.x</name>\n'
            '  <value>1</value>\n</property>\n<property>\n  <name>io.file.buffer.size</name>\n  <value>4096</value>\n'
            '</property>\n</configuration>\n')
    trimmed = trim(text, ("ipc.",))
    assert "ipc.client.x" not in trimmed and "<name>io.file.buffer.size</name>\n  <value>4096</value>" in trimmed
    assert trimmed.startswith('<?xml version="1.0"?>\n<!-- header -->\n<!-- Trimmed') and trimmed.count("<property>") == 1


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


def test_rocksdb_keeps_no_row_count(spark) -> None:
    """The count feeds only the progress reports' numRowsTotal, which the grader never reads."""
    assert spark.conf.get("spark.sql.streaming.stateStore.rocksdb.trackTotalNumberOfRows") == "false"


def test_permissions_are_set_in_process_and_exactly(spark, tmp_path: Path) -> None:
    """Hadoop's local file system would run `chmod` in a child process for every file it creates."""
    jvm = spark._jvm
    hadoop = spark._jsparkSession.sessionState().newHadoopConf()
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), hadoop)
    assert fs.getClass().getName() == "dsc650.grader.InProcessChmodLocalFileSystem"
    made = tmp_path / "made"
    made.mkdir()
    for mode in (0o640, 0o755, 0o1777):  # the last, beyond rwx, is Hadoop's own `chmod`'s to set
        fs.setPermission(jvm.org.apache.hadoop.fs.Path(made.as_uri()), jvm.org.apache.hadoop.fs.permission.FsPermission(mode))
        assert made.stat().st_mode & 0o7777 == mode
    written = tmp_path / "written.txt"
    stream = fs.create(jvm.org.apache.hadoop.fs.Path(written.as_uri()), True)
    stream.close()
    assert written.is_file() and written.stat().st_mode & 0o777 == 0o644  # Hadoop's 666 less its umask 022


def test_the_overrides_jar_is_built_from_its_sources() -> None:
    """Its classes are code the grading JVM runs: they must be what hadoop-overrides/ says."""
    from grader.replay import hadoop_overrides

    assert hadoop_overrides.built_digest() == hadoop_overrides.sources_digest(), (
        "grader/replay/hadoop-overrides/ changed since the jar was built: python -m grader.replay.hadoop_overrides")
