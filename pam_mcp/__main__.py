from pam_mcp.cli import main

raise SystemExit(main())
