-- wrk script: POST pre-signed statements, one per line of $DEPA_BENCH_BODIES, each once.
local bodies = {}
for line in io.lines(os.getenv("DEPA_BENCH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/statements", {["Content-Type"] = "application/json"}, bodies[i])
end
