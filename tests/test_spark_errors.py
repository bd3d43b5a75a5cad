"""Spark's errors translated into one sentence, without a JVM: Spark's own message in, part and sentence out.

Every message below is ``str(exception)`` as pyspark 4.3.0 raised it in a local session provoked
on purpose (plan dumps shortened, their structure kept), unless marked "Spark 3 wording": those
follow Spark 3's messages, which pyspark 4 no longer raises but older installs still do.
"""

from __future__ import annotations

import random
import re

import pytest

from grader.spark_errors import RULES, translate

# -- a column that does not exist ------------------------------------------------------------------
UNRESOLVED_SUGGESTION = """[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `uid` cannot be resolved. Did you mean one of the following? [`id`, `uuid`, `x`, `y`, `z`]. SQLSTATE: 42703;
'Project ['uid]
+- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/accelerations], [id#0, ride_id#1, uuid#2, timestamp#3, offset#4, x#5, y#6, z#7], name=<Unassigned>
"""
UNRESOLVED_IN_AGGREGATION = """[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `sped` cannot be resolved. Did you mean one of the following? [`speed`, `id`, `uuid`, `offset`, `ride_id`]. SQLSTATE: 42703;
'Aggregate [window#30-T30000ms, uuid#10], [window#30-T30000ms, uuid#10, unresolvedalias('avg('sped))]
+- ~Project [named_struct(start, knownnullable(precisetimestampconversion(...)), end, ...) AS window#30-T30000ms, id#8, ride_id#9, uuid#10, timestamp#11-T30000ms, offset#12, speed#13]
   +- ~Filter isnotnull(timestamp#11-T30000ms)
      +- ~EventTimeWatermark 2526fda6-4c26-4447-9e05-e582f7ce0323, timestamp#11: timestamp, 30 seconds
         +- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/locations], [id#8, ride_id#9, uuid#10, timestamp#11, offset#12, speed#13], name=<Unassigned>
"""
UNRESOLVED_QUALIFIED = """[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `l`.`uid` cannot be resolved. Did you mean one of the following? [`l`.`id`, `a`.`id`, `l`.`uuid`, `a`.`uuid`, `a`.`x`]. SQLSTATE: 42703; line 1 pos 9;
'Join Inner, (uuid#2 = 'l.uid)
:- ~SubqueryAlias a
:  +- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/accelerations], [id#0, ride_id#1, uuid#2, timestamp#3, offset#4, x#5, y#6, z#7], name=<Unassigned>
+- ~SubqueryAlias l
   +- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/locations], [id#8, ride_id#9, uuid#10, timestamp#11, offset#12, speed#13], name=<Unassigned>
"""
UNRESOLVED_NO_SUGGESTION = """[UNRESOLVED_COLUMN.WITHOUT_SUGGESTION] A column, variable, or function parameter with name `uid` cannot be resolved.  SQLSTATE: 42703; line 1 pos 7;
'Project ['uid]
+- OneRowRelation
"""
# Spark 3 wording (3.0-3.2 quote the name in backticks too)
UNRESOLVED_SPARK3 = """cannot resolve '`uid`' given input columns: [acc.id, acc.ride_id, acc.uuid, acc.timestamp]; line 1 pos 7;
'Project ['uid]
+- SubqueryAlias acc
"""

# -- paths -------------------------------------------------------------------------------------------
PATH_NOT_FOUND = "[PATH_NOT_FOUND] Path does not exist: file:/tmp/sparkerr/w/results/stream/input/acceleration. SQLSTATE: 42K03"
PATH_NOT_FOUND_STREAM = "[PATH_NOT_FOUND] Path does not exist: /tmp/sparkerr/w/nope. SQLSTATE: 42K03"  # readStream with a schema
STAGING_NOT_FOUND = "[PATH_NOT_FOUND] Path does not exist: file:/tmp/sparkerr/w/results/stream/staging/accelerations. SQLSTATE: 42K03"
STAGING_FILE_VANISHED = """An error occurred while calling o231.collectToPython.
: org.apache.spark.SparkException: [FAILED_READ_FILE.FILE_NOT_EXIST] Encountered error while reading file file:///tmp/sparkerr/w2/results/stream/staging/accelerations/p.parquet. File does not exist. It is possible the underlying files have been updated.
You can explicitly invalidate the cache in Spark by running 'REFRESH TABLE tableName' command in SQL or by recreating the Dataset/DataFrame involved. SQLSTATE: KD001
"""

# -- the join's output -------------------------------------------------------------------------------
COLUMN_ALREADY_EXISTS = "[COLUMN_ALREADY_EXISTS] The column `id` already exists. Choose another name or rename the existing column. SQLSTATE: 42711"
COLUMN_ALREADY_EXISTS_IN_FOREACH_BATCH = """[STREAM_FAILED] Query [id = 66ad1079-8ecb-4255-b721-7c75a4bbdb84, runId = faef7501-b28f-4848-bbd6-d7a4579f2ed9] terminated with exception: [FOREACH_BATCH_USER_FUNCTION_ERROR] An error occurred in the user provided function in foreach batch sink. Reason: An exception was raised by the Python Proxy. Return Message: Traceback (most recent call last):
  File "/work/main/.venv/lib/python3.11/site-packages/pyspark/sql/readwriter.py", line 2099, in parquet
    self._jwrite.parquet(path)
pyspark.errors.exceptions.captured.AnalysisException: [COLUMN_ALREADY_EXISTS] The column `id` already exists. Choose another name or rename the existing column. SQLSTATE: 42711
 SQLSTATE: 39000 SQLSTATE: XXKST
=== Streaming Query ===
Logical Plan:
~WriteToMicroBatchDataSourceV1 ForeachBatchSink, 66ad1079-8ecb-4255-b721-7c75a4bbdb84, [checkpointLocation=/tmp/sparkerr/w2/ck/fb], Append
+- ~Project [uuid#1, id#0, timestamp#2-T30000ms, x#3, id#4, timestamp#6-T30000ms, speed#7]
"""
DUPLICATE_COLUMNS_SPARK3 = "Found duplicate column(s) in the data schema: `id`, `uuid`"  # Spark 3 wording

# -- output modes and joins ----------------------------------------------------------------------------
UPDATE_ON_FILE_SINK = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE] Invalid streaming output mode: update. This output mode is not supported in Data Source parquet. SQLSTATE: 42KDE"
UPDATE_ON_FILE_SINK_SPARK3 = "Data source parquet does not support Update output mode;"  # Spark 3 wording
APPEND_WITHOUT_WATERMARK = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: append. This output mode is not supported for streaming aggregations without watermark on streaming DataFrames/DataSets. SQLSTATE: 42KDE"
COMPLETE_WITHOUT_AGGREGATION = "[STREAMING_OUTPUT_MODE.UNSUPPORTED_OPERATION] Invalid streaming output mode: complete. This output mode is not supported for no streaming aggregations on streaming DataFrames/DataSets. SQLSTATE: 42KDE"
OUTER_JOIN_WITHOUT_WATERMARK = """Stream-stream FullOuter join between two streaming DataFrame/Datasets is not supported without a watermark in the join keys, or a watermark on the nullable side and an appropriate range condition;
~Join FullOuter, (uuid#2 = uuid#10)
:- ~SubqueryAlias a
:  +- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/accelerations], [id#0, ride_id#1, uuid#2, timestamp#3, offset#4, x#5, y#6, z#7], name=<Unassigned>
+- ~SubqueryAlias l
   +- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/locations], [id#8, ride_id#9, uuid#10, timestamp#11, offset#12, speed#13], name=<Unassigned>
"""
OUTER_JOIN_IN_UPDATE_MODE = """FullOuter join between two streaming DataFrames/Datasets is not supported in Update output mode, only in Append output mode;
~Join FullOuter, ((uuid#1 = uuid#5) AND between(timestamp#6-T30000ms, cast(timestamp#2-T30000ms - INTERVAL '01' SECOND as timestamp), cast(timestamp#2-T30000ms + INTERVAL '01' SECOND as timestamp)))
:- ~SubqueryAlias a
:  +- ~EventTimeWatermark bf5acff3-daad-48f6-8027-429d46db279b, timestamp#2: timestamp, 30 seconds
"""
MULTIPLE_AGGREGATIONS_SPARK3 = """Multiple streaming aggregations are not supported with streaming DataFrames/Datasets;;
Aggregate [uuid#5], [uuid#5, count(1) AS count#100L]
"""  # Spark 3 wording: Spark 4 reports a "correctness" issue instead (CORRECTNESS below)
SORTING = """Sorting is not supported on streaming DataFrames/Datasets, unless it is on aggregated DataFrame/Dataset in Complete output mode;
~Sort [timestamp#3 ASC NULLS FIRST], true
+- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/accelerations], [id#0, ride_id#1, uuid#2, timestamp#3, offset#4, x#5, y#6, z#7], name=<Unassigned>
"""

# -- sources, checkpoints, files -------------------------------------------------------------------
NO_SCHEMA = "Schema must be specified when creating a streaming source DataFrame. If some files already exist in the directory, then depending on the file format you may be able to create a static DataFrame on that directory with 'spark.read.load(directory)' and infer schema from it."
NO_CHECKPOINT = 'checkpointLocation must be specified either through option("checkpointLocation", ...) or SparkSession.conf.set("spark.sql.streaming.checkpointLocation", ...).'
NANOSECONDS = "[PARQUET_TYPE_ILLEGAL] Illegal Parquet type: INT64 (TIMESTAMP(NANOS,true)). SQLSTATE: 42846"
INVALID_BATCH = """[STREAM_FAILED] Query [id = b1c28b6c-1c36-4439-919e-d7c36b8f8001, runId = 074db8fd-2d02-4f00-af58-78db92ac3ec9] terminated with exception: assertion failed: Invalid batch: id#114 != id#116,t#117 SQLSTATE: XXKST
=== Streaming Query ===
Identifier: [id = b1c28b6c-1c36-4439-919e-d7c36b8f8001, runId = 074db8fd-2d02-4f00-af58-78db92ac3ec9]
Current Committed Offsets: {}
Current Available Offsets: {FileStreamSource[file:/tmp/sparkerr/w/tsrc]: {"logOffset":0}}
"""
MKDIRS_FAILED = """An error occurred while calling o30.parquet.
: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times, most recent failure: Lost task 0.0 in stage 0.0 (TID 0) (192.0.2.2 executor driver): java.io.IOException: Mkdirs failed to create file:/tmp/sparkerr/ro/output/windowed/_temporary/0/_temporary/attempt_20261202042721559000668220624808_0000_m_000000_0 (exists=false, cwd=file:/tmp/sparkerr)
\tat org.apache.hadoop.fs.ChecksumFileSystem.create(ChecksumFileSystem.java:774)
"""
CHECKPOINT_MKDIR_FAILED = """An error occurred while calling o41.start.
: java.io.IOException: mkdir of file:/tmp/sparkerr/ro/checkpoints/q failed
"""
PYTHON_READ_ONLY = "[Errno 30] Read-only file system: '/tmp/sparkerr/ro/output'"
PYTHON_PERMISSION_DENIED = "[Errno 13] Permission denied: '/tmp/sparkerr/ro/x.parquet'"

# -- types ---------------------------------------------------------------------------------------------
MISMATCH_BINARY = """[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve "(timestamp AND speed)" due to data type mismatch: the left and right operands of the binary operator have incompatible types ("TIMESTAMP" and "DOUBLE"). SQLSTATE: 42K09;
'Project [unresolvedalias((timestamp#11 AND speed#13))]
+- StreamingRelation FileSource[/tmp/sparkerr/w/results/stream/input/locations], [id#8, ride_id#9, uuid#10, timestamp#11, offset#12, speed#13], name=<Unassigned>
"""
MISMATCH_WINDOW = """[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve "window(speed, 15000000, 15000000, 0)" due to data type mismatch: The first parameter requires the ("(TIMESTAMP OR TIMESTAMP WITHOUT TIME ZONE)" or "STRUCT<start: TIMESTAMP, end: TIMESTAMP>" or "STRUCT<start: TIMESTAMP_NTZ, end: TIMESTAMP_NTZ>") type, however "speed" has the type "DOUBLE". SQLSTATE: 42K09;
'Aggregate [window(speed#7, 15000000, 15000000, 0)], [unresolvedalias(window(speed#7, 15000000, 15000000, 0)), count(1) AS count#241L]
+- StreamingRelation FileSource[/tmp/sparkerr/w2/results/stream/input/locations], [id#4, uuid#5, timestamp#6, speed#7], name=<Unassigned>
"""
MISMATCH_SPARK3 = "cannot resolve '(`timestamp` AND `speed`)' due to data type mismatch: differing types in '(`timestamp` AND `speed`)' (timestamp and double).; line 1 pos 7;"  # Spark 3 wording

# -- no rule: the first line -----------------------------------------------------------------------
CORRECTNESS = """Detected pattern of possible 'correctness' issue due to global watermark. The query contains stateful operation which can emit rows older than the current watermark plus allowed late record delay, which are "late rows" in downstream stateful operations and these rows can be discarded. Please refer the programming guide doc for more details. If you understand the possible risk of correctness issue and still need to run the query, you can disable this check by setting the config `spark.sql.streaming.statefulOperator.checkCorrectness.enabled` to false.;
~Aggregate [uuid#5], [uuid#5, count(1) AS count#100L]
+- ~Aggregate [window#99-T30000ms, uuid#5], [window#99-T30000ms, uuid#5, avg(speed#7) AS m#93]
"""
EVENT_TIME_NOT_TIMESTAMP = """[EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE] The event time `uuid` has the invalid type "STRING", but expected "TIMESTAMP". SQLSTATE: 42K09;
~EventTimeWatermark c19773e2-39bf-4dbb-935c-3793457c307b, uuid#5: string, 30 seconds
"""


@pytest.mark.parametrize(("message", "names"), [
    (UNRESOLVED_SUGGESTION, ["`uid`", "(Spark suggests `id`, `uuid`, `x`, `y`, `z`)"]),
    (UNRESOLVED_IN_AGGREGATION, ["`sped`", "`speed`", "`ride_id`"]),
    (UNRESOLVED_QUALIFIED, ["`l.uid`", "`l.id`, `a.id`, `l.uuid`, `a.uuid`, `a.x`"]),
    (UNRESOLVED_SPARK3, ["`uid`", "`acc.id`", "`acc.timestamp`"]),
])
def test_a_missing_column_is_named_with_spark_s_suggestions(message: str, names: list[str]) -> None:
    part, sentence = translate(message)
    assert part is None
    assert sentence.startswith("A column your query names does not exist: ")
    assert sentence.endswith("; check the spelling against the schema in the README.")
    for name in names:
        assert name in sentence


def test_a_missing_column_without_suggestions_is_named_alone() -> None:
    assert translate(UNRESOLVED_NO_SUGGESTION) == (
        None, "A column your query names does not exist: `uid`; check the spelling against the schema in the README.")


@pytest.mark.parametrize(("message", "path"), [
    (PATH_NOT_FOUND, "/tmp/sparkerr/w/results/stream/input/acceleration;"),
    (PATH_NOT_FOUND_STREAM, "/tmp/sparkerr/w/nope;"),
    # as the grader hands it over, sandbox paths already replaced (grader/observations.py)
    (PATH_NOT_FOUND.replace("file:/tmp/sparkerr/w/results", "results_dir"), "results_dir/stream/input/acceleration;"),
])
def test_a_missing_path_is_named_as_spark_gives_it(message: str, path: str) -> None:
    part, sentence = translate(message)
    assert part is None
    assert f"does not exist: {path} read from results_dir/stream/input/<kind>." in sentence
    assert "file:" not in sentence


@pytest.mark.parametrize("message", [STAGING_NOT_FOUND, STAGING_FILE_VANISHED])
def test_reading_staging_is_told_apart_from_other_missing_paths(message: str) -> None:
    part, sentence = translate(message)
    assert part is None
    assert "Your query reads results/stream/staging" in sentence
    assert "read from results_dir/stream/input" in sentence  # the catalogue's read_staging phrase


@pytest.mark.parametrize(("message", "names"), [
    (COLUMN_ALREADY_EXISTS, "`id`:"),
    (COLUMN_ALREADY_EXISTS_IN_FOREACH_BATCH, "`id`:"),
    (DUPLICATE_COLUMNS_SPARK3, "`id`, `uuid`:"),
])
def test_a_duplicated_column_is_named(message: str, names: str) -> None:
    part, sentence = translate(message)
    assert part == "8.2c"
    assert f"The output has more than one column named {names}" in sentence
    assert "prefix each side's columns (acc_*, loc_*)" in sentence


@pytest.mark.parametrize("message", [UPDATE_ON_FILE_SINK, UPDATE_ON_FILE_SINK_SPARK3])
def test_update_mode_on_a_file_sink_names_the_sink_and_the_mode(message: str) -> None:
    part, sentence = translate(message)
    assert part == "8.2b"
    assert sentence.startswith("A parquet file sink accepts only append mode, not update: ")  # the catalogue's phrase
    assert "foreachBatch" in sentence


def test_an_outer_join_in_update_mode_names_the_mode() -> None:
    assert translate(OUTER_JOIN_IN_UPDATE_MODE) == (
        "8.2c", "A stream-stream join runs only in append mode, not update: start the join as its own query with outputMode('append').")


@pytest.mark.parametrize(("message", "part", "start"), [
    (APPEND_WITHOUT_WATERMARK, "8.2b", "Append mode needs a watermark on an aggregation"),
    (COMPLETE_WITHOUT_AGGREGATION, None, "Complete mode needs an aggregation"),
    (OUTER_JOIN_WITHOUT_WATERMARK, "8.2c", "An outer stream-stream join needs withWatermark on both sides"),
    (MULTIPLE_AGGREGATIONS_SPARK3, "8.2b", "Only one streaming aggregation is allowed per query"),
    (SORTING, None, "Streaming DataFrames cannot be sorted"),
    (NO_SCHEMA, None, "A streaming file source needs its schema up front"),
    (NO_CHECKPOINT, None, "Set option('checkpointLocation', ...) on every query"),
    (NANOSECONDS, None, "Spark 4 cannot read nanosecond timestamps"),
    (INVALID_BATCH, None, "The schema changed after the query started: the t=SSS.S folders add a column t"),
])
def test_rules_whose_message_names_nothing_more_keep_their_sentence(message: str, part: str | None, start: str) -> None:
    assert translate(message)[0] == part
    assert translate(message)[1].startswith(start)


@pytest.mark.parametrize(("message", "path"), [
    (MKDIRS_FAILED, "/tmp/sparkerr/ro/output/windowed:"),
    (CHECKPOINT_MKDIR_FAILED, "/tmp/sparkerr/ro/checkpoints/q:"),
    (PYTHON_READ_ONLY, "/tmp/sparkerr/ro/output:"),
    (PYTHON_PERMISSION_DENIED, "/tmp/sparkerr/ro/x.parquet:"),
])
def test_a_write_outside_the_results_folder_names_where(message: str, path: str) -> None:
    part, sentence = translate(message)
    assert part is None
    assert sentence.startswith(f"Your code wrote outside its results folder, to {path} write only under results_dir")


@pytest.mark.parametrize(("message", "expression", "reason"), [
    (MISMATCH_BINARY, '"(timestamp AND speed)"', 'incompatible types ("TIMESTAMP" and "DOUBLE");'),
    (MISMATCH_WINDOW, '"window(speed, 15000000, 15000000, 0)"', ': "speed" has the type "DOUBLE";'),
    (MISMATCH_SPARK3, '"(`timestamp` AND `speed`)"', "(timestamp and double);"),
])
def test_a_type_mismatch_names_the_expression(message: str, expression: str, reason: str) -> None:
    part, sentence = translate(message)
    assert part is None
    assert sentence.startswith(f"The data types in {expression} do not fit")
    assert reason in sentence
    assert sentence.endswith("cast where needed.")
    assert "SQLSTATE" not in sentence and len(sentence) < 300


def test_every_rule_is_the_first_match_of_a_message_here() -> None:
    messages = [value for name, value in globals().items() if name.isupper() and isinstance(value, str)]
    first = {next((i for i, (pattern, _, _) in enumerate(RULES) if re.search(pattern, m, re.S)), None) for m in messages}
    assert first >= set(range(len(RULES)))


@pytest.mark.parametrize(("message", "first_line"), [
    (EVENT_TIME_NOT_TIMESTAMP, '[EVENT_TIME_IS_NOT_ON_TIMESTAMP_TYPE] The event time `uuid` has the invalid type "STRING", but expected "TIMESTAMP".'),
    (CORRECTNESS, CORRECTNESS.splitlines()[0][:300]),
    ("\n\n  ValueError: nope  \nsecond line", "ValueError: nope"),
    ("", "no message"),
])
def test_an_unknown_message_falls_back_to_its_first_line(message: str, first_line: str) -> None:
    part, sentence = translate(message)
    assert (part, sentence) == (None, first_line)
    assert "SQLSTATE" not in sentence and len(sentence) <= 300


# What the rules look for, and odd text to put around it: generated messages reach every rule.
TRIGGERS = [
    "UNRESOLVED_COLUMN with name `", "with name `a`.`", "cannot be resolved. Did you mean one of the following? [",
    "cannot resolve '", "cannot resolve '`x`' given input columns: [", "PATH_NOT_FOUND", "Path does not exist: file:",
    "COLUMN_ALREADY_EXISTS The column `", "Found duplicate column(s) in the data schema: ", "DATATYPE_MISMATCH",
    'Cannot resolve "', '" due to data type mismatch: however ', "Invalid batch: id#1 != t#", "Mkdirs failed to create ",
    "mkdir of ", "Permission denied: '", "Read-only file system", "STREAMING_OUTPUT_MODE.UNSUPPORTED_DATASOURCE",
    "output mode: update. This output mode is not supported in Data Source ", "Data source parquet does not support ",
    "FullOuter join between two streaming DataFrames is not supported in Update output mode", "stream/staging/", "TIMESTAMP(NANOS",
]
FRAGMENTS = [
    "`", "``", "]", "[", "'", '"', ";", ".", ",", " ", "\n", "\t", "uuid", " has the type ", " output mode", "SQLSTATE: 42703;",
    "é", "数据", "\u200b", "\x00", "\ud83d\ude00", "(.*+?[^$]{2,}|\\1)", "\\", "x" * 500,
]


def test_translate_never_raises_and_stays_short_on_odd_input() -> None:
    rng = random.Random(650)
    messages = ["", " ", "\n\n", "é" * 10, "x" * 2_000_000, "`" * 6000, "[" * 6000, "(.*)+$" * 1000]
    for _ in range(600):
        pieces = [rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 30))]
        pieces.insert(rng.randint(0, len(pieces)), rng.choice(TRIGGERS))
        messages.append("".join(pieces))
    messages += [pattern for pattern, _, _ in RULES]  # a rule's own regex, metacharacters and all, as a message
    for message in messages:
        part, sentence = translate(message)
        assert part in (None, "8.2a", "8.2b", "8.2c")
        assert isinstance(sentence, str) and sentence.strip() and len(sentence) <= 600, (message[:200], sentence)
