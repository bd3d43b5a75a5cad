"""After a batch: the class report (what the class got wrong) and the code-similarity check."""
