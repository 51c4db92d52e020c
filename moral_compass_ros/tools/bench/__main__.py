"""``python -m moral_compass_ros.tools.bench`` (the e2e bench starts its echo node this way)."""
from moral_compass_ros.tools.bench import main

raise SystemExit(main())
