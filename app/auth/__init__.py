"""Who may use a Spanwise that listens beyond loopback: API tokens, their tenants and roles."""
