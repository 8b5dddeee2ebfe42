from camcheck.cli import main

raise SystemExit(main())
