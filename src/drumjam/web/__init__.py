"""The jam app: FastAPI server and browser client."""
