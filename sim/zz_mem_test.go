package sim
import ("testing";"os";"strconv";"time";"runtime";"runtime/pprof";"fmt")
func TestZZMem(t *testing.T){
 if os.Getenv("MEM_N")=="" {t.Skip()}
 n,_:=strconv.Atoi(os.Getenv("MEM_N"))
 c:=DefaultConfig(); c.Nodes=n; c.Graph="hk"; c.Degree=20; c.Churn="kad"; c.Messages=100; c.Days=1
 c.TTLs=[]int{4}; c.Strategies=[]string{StrategyFlood}
 g,_:=BuildGraph(&c,1); ch,_:=NewChurn(&c); sc,_:=newScenario(&c,g,1)
 t0:=time.Now()
 w,err:=newWorld(&c,g,ch,sc,StrategyFlood,4); if err!=nil{t.Fatal(err)}
 var m runtime.MemStats; runtime.GC(); runtime.ReadMemStats(&m); fmt.Println("built",time.Since(t0), m.HeapInuse>>20,"MiB")
 w.clock.RunUntil(Epoch.Add(c.Duration()))
 runtime.GC(); runtime.ReadMemStats(&m); fmt.Println("ran",time.Since(t0), m.HeapInuse>>20,"MiB", w.clock.Fired())
 f,_:=os.Create("/tmp/heap.out"); pprof.WriteHeapProfile(f); f.Close()
 r:=w.result(Epoch.Add(c.Duration())); fmt.Println(r.DeliveryRatio)
}
