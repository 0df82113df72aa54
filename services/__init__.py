"""Workflows (import, rollback, estimates, pack, sign-off, access): one module per workflow;
every function takes the caller's Scope and checks the role itself."""
