from billfold.cli import main

raise SystemExit(main())
