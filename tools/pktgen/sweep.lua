-- Run inside Pktgen-DPDK (pktgen -f sweep.lua) by tools/bench.d/pktgen: replay the
-- capture on port 0 at a rate, stop, let sluice-dp drain, and ask the step helper
-- (PKTGEN_STEP, a command) to judge the step from pktgen's and sluice-dp's counters.
-- The helper writes "loss" or "clean" to PKTGEN_VERDICT. A binary search on the rate
-- (percent of the 100 Gbit/s link) finds the highest rate without loss.
local step_cmd = os.getenv("PKTGEN_STEP")
local verdict_file = os.getenv("PKTGEN_VERDICT")
local seconds = tonumber(os.getenv("PKTGEN_SECONDS") or "3")
local steps = tonumber(os.getenv("PKTGEN_STEPS") or "7")
local lo = tonumber(os.getenv("PKTGEN_RATE_LO") or "0")
local hi = tonumber(os.getenv("PKTGEN_RATE_HI") or "100")
local first = tonumber(os.getenv("PKTGEN_RATE_FIRST") or "100")

local function counters()
  local s = pktgen.portStats("all", "port")
  return s[0].opackets, s[0].obytes, s[1].ipackets, s[1].ibytes, s[1].imissed + s[0].imissed
end

local function run(rate, secs, label)
  pktgen.set("0", "rate", rate)
  local tx0, txb0, rx0, rxb0, miss0 = counters()
  pktgen.start("0")
  pktgen.delay(math.floor(secs * 1000))
  pktgen.stop("0")
  -- what sluice-dp still holds goes out, and pktgen's port counters (refreshed by its
  -- once-a-second timer) catch up
  pktgen.delay(2500)
  local tx1, txb1, rx1, rxb1, miss1 = counters()
  local cmd = string.format("%s %s %s %.3f %d %d %d %d %d", step_cmd, label, tostring(rate), secs,
    tx1 - tx0, txb1 - txb0, rx1 - rx0, rxb1 - rxb0, miss1 - miss0)
  if not os.execute(cmd) then
    return nil
  end
  local f = io.open(verdict_file, "r")
  if not f then return nil end
  local v = f:read("l")
  f:close()
  return v
end

pktgen.delay(2500)
-- a first second at a low rate, not judged: the ports' queues fill and start
run(1, 1, "warmup")
local rate = first
for i = 1, steps do
  local v = run(rate, seconds, "step")
  if v == nil then break end
  if v == "clean" then lo = rate else hi = rate end
  if i == 1 and v == "clean" then break end -- clean at the top rate: nothing to search
  rate = math.floor((lo + hi) / 2 * 100 + 0.5) / 100
  if hi - lo < 0.5 then break end
end
pktgen.quit()
