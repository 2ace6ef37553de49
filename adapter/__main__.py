"""`python -m adapter` is the same as the `servicenow-adapter` command."""

from adapter.cli import main

raise SystemExit(main())
