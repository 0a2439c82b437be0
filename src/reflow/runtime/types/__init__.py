"""Types shared by runtimes: the plugin ABCs and the step-call contract."""
