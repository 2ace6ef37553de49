"""OpenFin runtime emulator: the runtime's websocket protocol for the demo and for every OpenFin-side test.

``runtime.Runtime`` is the pure protocol core (its docstring carries the in-process connection contract used
by the built-in interop broker); ``server.serve`` puts it on a websocket.
"""
