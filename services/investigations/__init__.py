"""Investigations (issue 15): plate search and trajectories, vehicles near a place and time,
co-travel, correlation around an incident, cases and their export, replay. One router."""
from fastapi import APIRouter

from services.investigations import alpr_search, cases, correlate, export, near, replay, trajectory

router = APIRouter()
for _part in (alpr_search, trajectory, near, correlate, cases, export, replay):
    router.include_router(_part.router)
