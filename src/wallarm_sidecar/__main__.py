from wallarm_sidecar.cli import main

raise SystemExit(main())
