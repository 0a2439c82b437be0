"""Classes to names and back: the qualified names written into snapshots and their resolution."""
