"""The support analytics read model: per tenant, channel and UTC day, what was opened, solved,
answered and rated, and SLA attainment from the SLA clocks."""
