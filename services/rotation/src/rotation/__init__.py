"""ClientBase rotation service: Owns who owns each client: assignment, inactivity sweep, fair reassignment, handover deadlines."""
