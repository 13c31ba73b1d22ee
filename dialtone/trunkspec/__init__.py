"""Declarative SIP trunks and dispatch rules (`dialtone trunks ...`)."""
