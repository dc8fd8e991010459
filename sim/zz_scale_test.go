package sim
import ("testing";"context";"os";"strconv";"time";"runtime";"fmt")
func TestZZScale(t *testing.T){
 if os.Getenv("SCALE_N")=="" {t.Skip()}
 n,_:=strconv.Atoi(os.Getenv("SCALE_N"))
 c:=DefaultConfig(); c.Nodes=n; c.Graph="hk"; c.Degree=20; c.Churn="kad"; c.Messages=200; c.Days=7
 c.TTLs=[]int{4}; c.Strategies=[]string{StrategyFlood}
 if d:=os.Getenv("SCALE_DAYS");d!="" {c.Days,_=strconv.ParseFloat(d,64)}
 if d:=os.Getenv("SCALE_MSG");d!="" {c.Messages,_=strconv.Atoi(d)}
 if d:=os.Getenv("SCALE_TTL");d!="" {c.TTLs,_=ParseTTLs(d)}
 t0:=time.Now(); s,err:=NewStudy(c); if err!=nil{t.Fatal(err)}
 fmt.Println("graph", time.Since(t0))
 r,err:=s.Run(context.Background(), func(d,tot int, x *Result){ var m runtime.MemStats; runtime.ReadMemStats(&m); fmt.Println(d,tot,x.Strategy,x.TTL,x.DeliveryRatio,x.Events,x.Offers,time.Since(t0), m.HeapInuse>>20,"MiB") })
 if err!=nil{t.Fatal(err)}; _=r
}
