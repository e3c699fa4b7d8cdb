"""SMS text and phone-number logic, and the provider adapters."""
