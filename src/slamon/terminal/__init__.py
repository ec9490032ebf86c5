"""What people read in a terminal: `slamon tail --brief` lines and the `slamon watch` board.

Pure apart from rendering: records and /metrics text in, text or rich renderables out,
so it is tested without a broker, a worker or a terminal.
"""
