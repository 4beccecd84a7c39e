import{cp as i}from"./index-gdRUY_tL.js";const n=o=>["",...i].includes(o);export{n as i};
