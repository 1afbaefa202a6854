"""Video: what a file is (probe), whether it suits a placement (checks), and the renditions (render).

Plain Python on PyAV (FFmpeg's libraries in its wheel); large media are passed as file paths, never held whole.
"""
