"""loopwise.feedback: review items, corrections, versioned datasets and prompts."""
