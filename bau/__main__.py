from bau.cli import main

raise SystemExit(main())
