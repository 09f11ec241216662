"""Dev and test tooling, kept out of the runtime package `ciam_shared` and
out of every service image: `devstack` (the local processes behind `make run` and the tests)
and `testing` (the pytest plugin and its helpers)."""
