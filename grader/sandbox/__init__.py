"""Running student code: each part of a submission in a child process of its own.

- ``workdir``: the work folder (copies of the submission and the data, each part's outputs);
- ``isolation``: how the child is confined on this machine (namespaces as root, a sandbox user
  where root lacks namespaces, user namespaces without root, or not at all, said plainly);
- ``users``: the sandbox users, one per part of each grading running at once;
- ``watchdog``: time, memory and process limits, and the processes a child leaves behind;
- ``run``: one part, start to finish.
"""
