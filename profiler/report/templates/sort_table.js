(function(){function val(t){var m=/^\s*(-?[\d.,]+)\s*(k|M|G|T|KiB|MiB|GiB|TiB|B|%|ms)?/
.exec(t);if(!m)return NaN;var u={k:1e3,M:1e6,G:1e9,T:1e12,KiB:1024,MiB:1048576,
GiB:1073741824,TiB:1099511627776}[m[2]]||1;return parseFloat(m[1].replace(/,/g,''))*u;}
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener(
'click',function(){var table=th.closest('table'),body=table.tBodies[0],
i=Array.prototype.indexOf.call(th.parentNode.children,th),num=th.classList.contains('n'),
asc=th.getAttribute('aria-sort')!=='ascending';table.querySelectorAll('th').forEach(
function(h){h.removeAttribute('aria-sort');});th.setAttribute('aria-sort',asc?'ascending':
'descending');var rows=Array.prototype.map.call(body.rows,function(r){var c=r.cells[i],
t=c?c.textContent:'';return [num?val(t):t.toLowerCase(),r];});rows.sort(function(a,b){
if(num){var x=isNaN(a[0]),y=isNaN(b[0]);if(x||y)return x-y;}var d=a[0]<b[0]?-1:a[0]>b[0]
?1:0;return asc?d:-d;});var f=document.createDocumentFragment();rows.forEach(function(r){
f.appendChild(r[1]);});body.appendChild(f);});});})();
