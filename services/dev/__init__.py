"""Development and demo tools, apart from the server: the project-local PostGIS cluster (localdb),
the demo city loader (demo), synthetic benchmark data (synth) and the live demo simulation
(simulate). The server never imports them; the `rtcc` CLI, tests and benchmarks do."""
